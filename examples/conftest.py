# The demo (`pytest examples --memguard`) passes; the files in failing/ show what each failure message
# looks like and run only when named: `pytest examples/failing/test_failing_heap.py`.
collect_ignore = ["failing"]
