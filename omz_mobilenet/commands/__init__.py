"""The CLI's commands, in the order `--help` lists them."""

from omz_mobilenet.commands import accuracy_cmds, bench_cmds, catalogue_cmds, convert_cmds, split_cmds, verify_cmds

COMMAND_MODULES = [catalogue_cmds, convert_cmds, split_cmds, verify_cmds, bench_cmds, accuracy_cmds]
