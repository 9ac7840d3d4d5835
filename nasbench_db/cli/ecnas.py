"""EC-NAS-Bench: ``convert ecnas`` (NB-101 runs trained again, with energy, added as a source of their own)."""

from __future__ import annotations

import click

from ._common import CONTEXT_SETTINGS, convert, db_dir_option, handle_errors


@convert.command("ecnas", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--device", default=None,
              help="Device that trained the runs (default: EC-NAS's hardware tag in the file name, e.g. rtx3090, "
                   "else the GPU the file's power records name, as a tag: quadrortx6000).")
@db_dir_option
@handle_errors
def convert_ecnas_command(file, device, db_dir):
    """Add an EC-NAS-Bench file (NB-101 cells trained again, with energy and CO2) to the NB-101 database.

    The runs become a source of their own beside the released runs, which stay as they are (NNI's views never show
    these). Kept: accuracies, times, the file's halfway epoch, energy (kWh) and co2eq (g) of each evaluation, the
    run totals and the device; the report names every field of the file that is not kept. Converting a file twice
    does nothing.

    \b
    Example:
        nasbench-db convert ecnas energy_5V9E.tfrecord
        nasbench-db convert ecnas energy_4V9E_linscale.tfrecord --device quadrortx6000
        nasbench-db query nb101 --source ecnas --epochs 4 --limit 5
        nasbench-db sql "SELECT c.num_epochs, AVG(e.total_energy) FROM nb101_trial_energy e
            JOIN nb101_config c ON c.id = e.trial_id / 1024 GROUP BY c.num_epochs"
    """
    from ..convert.ecnas import convert_ecnas

    click.echo(convert_ecnas(file, db_dir, device=device).summary())
