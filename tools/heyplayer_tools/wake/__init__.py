"""The "hey player" wake-word head's training recipe (make wake-model): data
(build_data), training (train), features (wakefeat), the second stage's tuning
clips (verify_tune) and head comparisons. The model and its card: models/wake/."""
