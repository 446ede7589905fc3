"""Math word-problem tasks (GSM8K, Hendrycks MATH): answer extraction and grading by equivalence."""
