"""The console summary of a data report (rich table)."""

from rich.console import Console
from rich.table import Table


def print_summary(report: dict, console: Console = None) -> None:
    console = console or Console()
    counts, tmpl, div = report["counts"], report["templates"], report["diversity"]
    table = Table(title=f"marco data report: {report['source']}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("input lines", str(counts["input"]))
    table.add_row("kept", str(counts["kept"]))
    table.add_row("rejected", str(counts["rejected"]))
    for reason, n in counts["by_reason"].items():
        table.add_row(f"  {reason}", str(n))
    table.add_row("templated replies", f"{tmpl['templated_replies']} of {tmpl['replies_scanned']} ({tmpl['template_rate']:.1%})")
    table.add_row("distinct-2 (kept)", f"{div['kept']['distinct_2']:.3f}")
    table.add_row("top opening share (kept)", f"{div['kept']['top_opening_share']:.1%} '{div['kept']['top_opening']}'")
    table.add_row("compression ratio (kept)", f"{div['kept']['compression_ratio']:.2f}")
    console.print(table)
    for warning in report["warnings"]:
        console.print(f"[yellow]! {warning}[/yellow]", highlight=False)
