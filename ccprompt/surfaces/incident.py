"""The status page's part of the status line: the incident that explains a failure, the `incident` segment."""

from ccprompt.core import files, render
from ccprompt.core.text import sanitize


def page_segments(seg: dict, paths, config, state, signal, style: str, short_text, now_s: float, wanted: bool,
                  spawn_page: bool) -> dict:
    """The status page's part: an incident that explains a red or yellow line, and the `incident` segment.

    The record is read only when a failure is on show or the layout asks for the segment,
    so a green line pays nothing. It is fetched by the detached worker; here, at most a
    worker is started when the record says a check is due. `short_text()` is the network
    segment in its short style, which the incident follows instead of the waterfall.
    """
    if not (wanted or signal.status in ("error", "degraded")):
        return {}
    from ccprompt.core import statuspage

    record = statuspage.read(paths)
    now_ms = int(now_s * 1000)
    levels = {}
    incident = statuspage.explaining(record, signal, state, now_ms)
    if incident is not None and style != "icon":
        seg["network"] = short_text() + statuspage.suffix(incident)
    if wanted:
        text, level = statuspage.segment(record, now_ms)
        if text and incident is None:  # a pinned incident is on the line already
            seg["incident"] = sanitize(text, 80)
            levels["incident"] = render.COLORS.get(level)
    if spawn_page and statuspage.due(now_ms, record, statuspage.summary_url(config["statuspage_url"]),
                                     signal.status)[0]:
        try:
            free = files.FileLock(paths.in_state(statuspage.LOCK)).is_free()
        except OSError:
            free = False
        if free:
            from ccprompt.sources import spawn

            spawn.spawn(spawn.refresh_argv())
    return levels

