"""
Tune a stack with GridSearchCV, then save it safely
===================================================

A stack's members are addressed by name, so ``GridSearchCV`` tunes a member's
parameter (``mlp__hidden``), the meta-learner's (``final_estimator__C``) and
the stack's own (``passthrough``) in one grid. The best stack is saved with
:func:`skstack.save`, which loads back without running code from the file.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

import skstack
from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
stack = KerasStackingClassifier(
    [
        (
            "mlp",
            KerasClassifier(
                dense_model, hidden=(8,), epochs=10, optimizer="adam", verbose=0
            ),
        ),
        ("logreg", LogisticRegression()),
    ],
    final_estimator=LogisticRegression(),
    cv=3,
    random_state=0,
)
grid = {
    "mlp__hidden": [(8,), (32,)],
    "final_estimator__C": [0.1, 10.0],
}
search = GridSearchCV(stack, grid, cv=2).fit(X_train, y_train)
results = pd.DataFrame(search.cv_results_)
print(results[["param_mlp__hidden", "param_final_estimator__C", "mean_test_score"]])
print("best:", search.best_params_, "held-out accuracy", search.score(X_test, y_test))

# %%
# Save and load the best stack
# ----------------------------
# The archive holds the Keras network as a ``.keras`` file and the rest as a
# skops file; its manifest records library versions and file hashes.
path = Path(tempfile.mkdtemp()) / "wine_stack.skstack"
skstack.save(search.best_estimator_, path)
loaded = skstack.load(path)
same = np.array_equal(
    loaded.predict_proba(X_test), search.best_estimator_.predict_proba(X_test)
)
print(
    f"{path.name}: {path.stat().st_size / 1024:.0f} KiB, identical predictions: {same}"
)
