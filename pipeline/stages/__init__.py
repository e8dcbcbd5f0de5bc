"""Each stage's decision as a pure transition: plain data in, plain data out, no I/O."""
