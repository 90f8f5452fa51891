"""The console summary of a data report (rich table). Text from the data is printed literally: a reply holding
"[bold]" or "[/]" is not rich markup."""

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text


def print_summary(report: dict, console: Console = None) -> None:
    console = console or Console()
    counts, tmpl, div = report["counts"], report["templates"], report["diversity"]
    table = Table(title=Text(f"marco data report: {report['source']}"), show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("input lines", str(counts["input"]))
    table.add_row("formats read", Text(", ".join(f"{fmt} ({n})" for fmt, n in report["formats"].items()) or "none"))
    table.add_row("kept", str(counts["kept"]))
    if counts.get("flagged"):
        table.add_row("  of which flagged", str(counts["flagged"]))
    table.add_row("rejected", str(counts["rejected"]))
    for reason, n in counts["by_reason"].items():
        table.add_row(f"  {reason}", str(n))
    if review := report.get("review"):
        table.add_row("reviewed by a reader", f"{review['records_reviewed']} ({review['dropped']} dropped, "
                      f"{review['kept']} kept over a filter)")
    table.add_row("templated replies", f"{tmpl['templated_replies']} of {tmpl['replies_scanned']} ({tmpl['template_rate']:.1%})")
    table.add_row("distinct-2 (kept)", f"{div['kept']['distinct_2']:.3f}")
    table.add_row("top opening share (kept)", Text(f"{div['kept']['top_opening_share']:.1%} '{div['kept']['top_opening']}'"))
    table.add_row("compression ratio (kept)", f"{div['kept']['compression_ratio']:.2f}")
    console.print(table)
    for warning in report["warnings"]:
        console.print(f"[yellow]! {escape(warning)}[/yellow]", highlight=False)
