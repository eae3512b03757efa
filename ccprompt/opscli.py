"""Operations commands (watch, history, metrics, doctor), registered on the Typer app.

Only the command-line surface lives here; each command imports its implementation when it
runs, so loading the app for another command costs nothing extra.
"""

from __future__ import annotations

from typing import Optional

import typer


def _fail(message: str, code: int = 1):
    typer.echo(f"ccprompt: {message}", err=True)
    raise typer.Exit(code)


def register(app) -> None:
    """Add the operations commands to `app`."""

    @app.command()
    def watch(
        interval: Optional[float] = typer.Option(
            None, "--interval", min=1.0, metavar="SECONDS",
            help="Seconds between probes while healthy (default 300, or [watch] interval_s in the config)."),
        once: bool = typer.Option(False, "--once", help="Probe once (or adopt a probe that just finished) and exit."),
        as_json: bool = typer.Option(False, "--json", help="Progress on stderr as JSON lines."),
        textfile: Optional[str] = typer.Option(
            None, "--textfile", metavar="DIR", help="Rewrite DIR/ccprompt.prom after every probe."),
        retry_s: float = typer.Option(10.0, "--retry-s", min=0.01, hidden=True),
    ):
        """Keep the state fresh: probe every interval, back off on failure, share the lock with everything else.

        Exit 0 when stopped by SIGTERM or SIGINT; 1 when another watch is already running.
        With --once: 0 healthy or degraded, 1 error, 2 nothing could be probed, 128+N stopped by signal N.
        """
        from ccprompt import watch as watch_mod

        raise typer.Exit(watch_mod.main(interval_s=interval, retry_s=retry_s, once=once, as_json=as_json,
                                        textfile_dir=textfile))

    @app.command()
    def history(
        since: str = typer.Option("1h", "--since", metavar="DURATION",
                                  help="How far back: 90s, 30m, 1h, 1h30m, 2d, 1w or all."),
        as_json: bool = typer.Option(False, "--json", help="The period's figures and records as JSON."),
        limit: int = typer.Option(50, "--limit", min=0, help="Table rows to show, newest last (0: all)."),
    ):
        """Recent probes: a sparkline of Total latency, P50, P95 and error rate, then a table."""
        from ccprompt import config as config_mod
        from ccprompt import historyview

        try:
            since_s = historyview.parse_since(since)
        except ValueError as exc:
            _fail(f"--since: {exc}", 2)
        typer.echo(historyview.report(config_mod.home_dir(), since_s, limit=limit, as_json=as_json))

    @app.command()
    def metrics(
        textfile: Optional[str] = typer.Option(
            None, "--textfile", metavar="DIR",
            help="Write DIR/ccprompt.prom atomically (node_exporter textfile collector) instead of printing."),
    ):
        """Prometheus text exposition of the state and the history."""
        import os

        from ccprompt import config as config_mod
        from ccprompt import metrics as metrics_mod

        text = metrics_mod.collect(config_mod.home_dir())
        if textfile is None:
            typer.echo(text, nl=False)
            return
        if not os.path.isdir(textfile):
            _fail(f"--textfile: {textfile} is not a directory", 2)
        try:
            metrics_mod.write_textfile(textfile, text)
        except OSError as exc:
            _fail(f"cannot write {os.path.join(textfile, metrics_mod.TEXTFILE)}: {exc.strerror}", 1)

    @app.command()
    def doctor(as_json: bool = typer.Option(False, "--json", help="The same checks as one JSON object.")):
        """Check every link to the API (credential, DNS, proxy, CA, TCP, TLS, probe, files, clock).

        Each line is ✓, ! or ✗ with a fix. Exit 0 when nothing is ✗, 1 otherwise. The probe
        it makes is not recorded.
        """
        from ccprompt import doctor as doctor_mod

        raise typer.Exit(doctor_mod.main(as_json=as_json))
