"""
Stacking regressors, with out-of-fold meta-features
===================================================

A Keras network and two scikit-learn regressors predict diabetes progression;
a ridge regression combines their out-of-fold predictions. ``fit_transform``
returns those out-of-fold meta-features, the very ones the meta-learner saw.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingRegressor
from skstack.keras import KerasRegressor, dense_model

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
y_scale = y_train.std()  # networks train better on a target of unit scale

members = [
    (
        "mlp",
        make_pipeline(
            StandardScaler(),
            KerasRegressor(
                dense_model, hidden=(16,), epochs=60, optimizer="adam", verbose=0
            ),
        ),
    ),
    ("ridge", RidgeCV()),
    ("boosting", HistGradientBoostingRegressor(max_iter=100, random_state=0)),
]
stack = KerasStackingRegressor(members, final_estimator=RidgeCV(), cv=5, random_state=0)
meta_features = stack.fit_transform(X_train, y_train / y_scale)
print("out-of-fold meta-features:", meta_features.shape, stack.get_feature_names_out())

# %%
# Held-out R² of each member and of the stack
# -------------------------------------------
for name, member in stack.named_estimators_.items():
    print(f"{name:>10}  R² {r2_score(y_test, member.predict(X_test) * y_scale):.3f}")
predicted = stack.predict(X_test) * y_scale
print(f"{'stack':>10}  R² {r2_score(y_test, predicted):.3f}")

fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(y_test, predicted, s=10)
ax.plot([y.min(), y.max()], [y.min(), y.max()], color="grey")
ax.set_xlabel("true")
ax.set_ylabel("stack's prediction")
fig.tight_layout()
