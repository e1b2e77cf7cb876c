"""The CLI's commands, in the order `--help` lists them."""

from omz_mobilenet.commands import catalogue_cmds, convert_cmds, verify_cmds, bench_cmds, accuracy_cmds

COMMAND_MODULES = [catalogue_cmds, convert_cmds, verify_cmds, bench_cmds, accuracy_cmds]
