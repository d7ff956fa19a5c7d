"""Docstring parts the two stacking classes share."""

SHARED_PARAMETERS = """\
    estimators : list of (str, estimator)
        The base estimators: any scikit-learn estimator, including
        :class:`~skstack.keras.KerasClassifier` / ``KerasRegressor`` and pipelines.
        ``"drop"`` in place of an estimator (or ``set_params(name="drop")``)
        removes it; ``set_params(name__param=value)`` reaches its parameters.
    final_estimator : estimator, default=None
        The meta-learner, fitted on the members' out-of-fold predictions. None
        uses :func:`skstack.keras.make_meta_learner`: scikit-learn's
        ``LogisticRegression`` (``Ridge`` for regression) on the standardized
        meta-features (logits of probabilities), one ``Dense`` layer as Keras
        (:class:`~skstack.keras.LinearMetaClassifier` /
        :class:`~skstack.keras.LinearMetaRegressor`); pass one explicitly to
        tune it with ``final_estimator__...``.
    cv : int, cross-validation generator, iterable of splits or "prefit", default=5
        How out-of-fold predictions are made. An int gives
        ``StratifiedKFold`` for classifiers and ``KFold`` for regressors; the
        splits are drawn once, so every member sees the same folds. The test
        parts must be disjoint but need not cover every sample: with a
        ``TimeSeriesSplit`` each row is predicted by models trained on earlier
        rows only, and a one-split holdout (``ShuffleSplit(n_splits=1)``,
        ``PredefinedSplit``) trains the members once and the meta-learner on
        the held-out rows (blending); the meta-learner is trained on the rows
        that were predicted (``oof_mask_``). ``"prefit"`` uses the
        estimators as already fitted (not cloned, not refitted) and their
        predictions of X as meta-features: fit the stack on data the members
        have not seen.
    fold_models : {"refit", "average"}, default="refit"
        ``"refit"`` fits each member once more on all the data for prediction.
        ``"average"`` keeps every fold model instead (no full-data fit) and
        predicts with the mean of their outputs, so the meta-learner sees at
        predict time the kind of model it was trained on.
    n_repeats : int, default=1
        Repeat the k-fold split this many times with new shuffles; each
        sample's out-of-fold prediction is the mean over repeats. The splits
        used are ``splits_``.
    scoring : str or callable, default=None
        How each fold model is scored on its held-out part (``fold_scores_``,
        ``report()``): a scikit-learn scoring name or scorer. None uses the
        members' own ``score`` (accuracy, R²).
    fuse_folds : "auto" or bool, default="auto"
        Train the fold models of each Keras member (and its refit on all rows)
        as one Keras graph: parallel copies of the network, each one's loss
        weighted by a mask of its own training rows, so a copy never learns
        from its held-out rows. Small networks then train all folds in about
        the time of one fit. A ``Pipeline`` ending in such a wrapper is fused
        too: each copy's preprocessing steps are fitted on that copy's
        training rows and it trains on its own transformed rows.
        Each copy trains as its separate fit would: its own class weights
        (``class_weight``, ``"balanced"`` included) times the sample weights,
        its own validation rows (``validation_split``, ``early_stopping``) or
        the shared ``fit__validation_data``, its own ``EarlyStopping`` and
        ``TerminateOnNaN`` callbacks, ending with the weights its separate
        fit would end with; ``fit__epochs``, ``fit__batch_size`` and
        ``fit__shuffle`` mean what they mean for one fit.
        ``"auto"`` fuses every member that can be and fits the others fold
        by fold: estimators that are neither a plain
        :class:`~skstack.keras.KerasClassifier`/``KerasRegressor`` nor a
        pipeline ending in one; wrappers with other callbacks
        (``ReduceLROnPlateau`` changes a learning rate the copies share),
        other ``fit__`` parameters, an optimizer clipping by norm
        (``clipnorm``, ``global_clipnorm``) or a ``BatchNormalization``
        layer; pipelines with a step whose ``fit_transform`` differs from
        ``fit().transform()`` (``TargetEncoder``); and classifiers when a
        fold's training rows lack a class. ``True`` raises a
        ``ValueError`` naming a Keras wrapper that cannot be fused and why;
        ``False`` fits every member fold by fold. ``fused_members_`` lists
        the members that were fused, ``unfused_members_`` why the others
        were not. The graph holds k + 1 copies of the network at once.
    warm_start_folds : bool, default=True
        Fit a member whose objective has one optimum (``LogisticRegression``
        with an L2 penalty and a solver other than liblinear,
        ``ElasticNet`` with ``l1_ratio < 1``, ``PoissonRegressor``,
        ``GammaRegressor``, ``TweedieRegressor`` with ``alpha > 0``; alone or
        as a ``Pipeline``'s last step) on all rows first, then each of its
        folds starting from that solution (``warm_start``): the same
        out-of-fold predictions within the solver's tolerance, in fewer
        iterations. A fold whose training rows lack a class starts from
        scratch. ``False`` starts every fold from scratch.
""".rstrip()

SHARED_TAIL = """\
    passthrough : bool, default=False
        Append the original features (flattened, for N-D input) to the
        meta-features.
    memory : str, joblib.Memory or None, default=None
        Cache every member fit (each fold's, the full one; fused and
        warm-started members' fits as one entry) and its out-of-fold result
        in this directory (a path or a ``joblib.Memory``, as
        ``Pipeline(memory=...)``). A later fit whose member (parameters and
        seed included), data (X, y, sample weights, metadata) and splits are
        the same loads them instead of training: tuning the meta-learner,
        ``passthrough``, ``stack_method`` or a dropped member then trains no
        member again. An unreadable entry is refitted with a
        :class:`~skstack.exceptions.CacheEntryWarning`. Entries are pickles:
        loading one runs code from it, so use a directory only this user
        writes. Without ``random_state``, Keras members are unseeded and a
        cached fit is reused as it was.
    n_jobs : int, default=None
        Jobs running the (estimator, fold) fits and the full refits, all in one
        joblib pool; None means 1 unless in a ``joblib.parallel_backend``
        context, -1 all processors.
    verbose : int, default=0
        Above 0, a progress bar (tqdm, on stderr) counts the (estimator, fold)
        fits and refits as they finish; the fits of a fused or warm-started
        member count as one.
    random_state : int, RandomState instance or None, default=None
        Seeds every member's and the meta-learner's ``random_state`` left at
        None (nested ones too), and a shuffling splitter's seed, so an int
        gives the same predictions on every fit. None leaves them as they are.
""".rstrip()

SHARED_ATTRIBUTES = """\
    estimators_ : list of estimators
        The kept members, each refitted on all the training data (the given
        objects themselves with ``cv="prefit"``; with ``fold_models="average"``
        a list of fold models per member).
    named_estimators_ : Bunch
        The fitted members by name; dropped ones are ``"drop"``.
    final_estimator_ : estimator
        The fitted meta-learner.
    stack_method_ : list of str
        The method giving each kept member's meta-features, in the order of
        ``estimators_``.
    oof_predictions_ : ndarray of shape (n_samples, n_meta_features)
        The out-of-fold meta-features (including the original features with
        ``passthrough``); the meta-learner was trained on its rows where
        ``oof_mask_`` is True. Rows no test part of ``cv`` holds (the first
        rows of a ``TimeSeriesSplit``, the training rows of a holdout) have
        no out-of-fold prediction: their meta-feature columns are NaN.
    oof_mask_ : ndarray of bool of shape (n_samples,)
        Which rows have out-of-fold predictions, the meta-learner's training
        rows: all of them for a k-fold ``cv`` (and ``"prefit"``).
    splits_ : list of list of (ndarray, ndarray)
        The (train, test) indices of each fold, per repeat (empty with
        ``cv="prefit"``).
    fold_scores_ : dict of ndarray of shape (n_repeats, n_splits)
        Each member's ``scoring`` on each held-out fold (empty with
        ``cv="prefit"``).
    fused_members_ : list of str
        The members trained with ``fuse_folds``.
    unfused_members_ : dict of str
        For each member fitted fold by fold, why it was not fused (for
        example ``"fuse_folds=False"``, ``"cv='prefit'"``, ``"it has no fused
        training"`` for a scikit-learn model, or what keeps a Keras wrapper
        from fused training).
    refit_epochs_ : dict of int
        For members that stop early (a Keras wrapper, or a pipeline ending in
        one, with ``early_stopping=True``) and ``fold_models="refit"``: the
        epochs of the refit on all rows, the mean of the fold models' best
        epochs. Each fold model stops on rows of its own training fold.
    n_features_in_ : int
        Number of features (size of the second axis of X) seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when X had string column names.
""".rstrip()
