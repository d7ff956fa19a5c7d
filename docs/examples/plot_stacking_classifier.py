"""
How do I stack Keras models with scikit-learn models?
=====================================================

A Keras network, a logistic regression and a random forest learn the breast
cancer data; their out-of-fold probabilities train the default meta-learner
(a logistic regression on their standardized logits, one Keras ``Dense`` layer
when exported).
The stack is one scikit-learn estimator: ``fit``, ``predict_proba``, ``score``.
"""

# %%
# The members and the stack
# -------------------------
import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

members = [
    (
        "mlp",
        make_pipeline(
            StandardScaler(),
            KerasClassifier(dense_model, hidden=(32,), epochs=30, verbose=0),
        ),
    ),
    ("logreg", make_pipeline(StandardScaler(), LogisticRegression())),
    ("forest", RandomForestClassifier(n_estimators=100, random_state=0)),
]
stack = KerasStackingClassifier(members, cv=3, random_state=0)
stack.fit(X_train, y_train)

# %%
# Held-out accuracy of each member and of the stack
# -------------------------------------------------
# ``report`` scores each refitted member and the stack on held-out data, and
# shows how alike the members' out-of-fold predictions are.
report = stack.report(X_test, y_test)
print(report)

scores = {
    name: member.score(X_test, y_test)
    for name, member in stack.named_estimators_.items()
}
scores["stack"] = stack.score(X_test, y_test)
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(list(scores), list(scores.values()))
ax.set_xlim(0.85, 1.0)
ax.set_xlabel("held-out accuracy")
fig.tight_layout()
