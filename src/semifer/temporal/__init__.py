"""Stage 2: frozen-student feature cache, temporal encoder training, evaluation and ablation."""
