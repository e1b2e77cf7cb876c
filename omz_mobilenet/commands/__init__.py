"""The CLI's commands, in the order `--help` lists them. Each module is a thin argparse adapter:
it parses, calls the stage that does the work, and prints or writes the records."""

from omz_mobilenet.commands import (
    ac_dataset_cmds,
    accuracy_cmds,
    add_cmds,
    bench_cmds,
    catalogue_cmds,
    convert_cmds,
    diagnose_cmds,
    gate_cmds,
    results_cmds,
    split_cmds,
    sweep_cmds,
    verify_cmds,
)

COMMAND_MODULES = [
    catalogue_cmds,
    add_cmds,
    convert_cmds,
    split_cmds,
    verify_cmds,
    bench_cmds,
    accuracy_cmds,
    diagnose_cmds,
    gate_cmds,
    ac_dataset_cmds,
    sweep_cmds,
    results_cmds,
]
