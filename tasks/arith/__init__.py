"""The offline arithmetic world ``arith``: procedurally generated, no download needed."""
