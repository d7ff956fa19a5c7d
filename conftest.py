import os

# Quiet TensorFlow's C++ start-up logging in tests and doctests; it must be set
# before TensorFlow is first imported, which is why it lives in the root conftest.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
