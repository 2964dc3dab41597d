"""Names of the demo's own rows, shared by the pipeline, the report and the seeds summary.

The ablation's rows are named beside it, in ``semifer.temporal.ablation``.
"""

FEEDBACK_OFF_ROW = "SSL, f = 0 (feedback off)"
# Reference rows printed beside the ablation table (report and seeds summary).
PROBE_ROW = "HOG + logistic regression (labeled data only)"
CHANCE_ROW = "chance (uniform random guess)"
MAJORITY_ROW = "majority class (always the most frequent)"
