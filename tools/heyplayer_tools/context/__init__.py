"""The context head's recipe (make context-head): scenes (build_data, the
synthetic rooms, the labelling rules of eval_ambient), training (train_head),
the outside evaluation (eval_outside, outside.jsonl) and the YAMNet reference
(reference, make test-data). The model and its card: models/context/."""
