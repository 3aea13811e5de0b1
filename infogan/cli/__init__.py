"""The port's commands: train (`train.py`, `infogan-train`), evaluate and sample. Each defines its
flags, checks them before TensorFlow loads, and reports bad input as one line with exit status 2
(`common.run_command`, which the parity commands use too). What only a process may do lives here:
exit statuses, the program's name in messages, and `watchdog`, which ends a multi-worker start-up
that waits too long.
(The parity command belongs to the TF1 kit: `infogan.parity.command`.)
"""
