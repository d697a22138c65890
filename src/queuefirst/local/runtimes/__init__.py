"""Each function as a pool of real Lambda runtimes: AWS's Runtime Interface Emulator around
`python -m awslambdaric <handler>`, how one is launched, what each function is, and its figures."""
