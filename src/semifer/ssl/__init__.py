"""Stage 1: teacher-student spatial pretraining with the student's feedback."""
