"""Django-side commands for the intake crash tests (``tests/test_intake_crash.py``), run in
subprocesses against ``DATABASE_URL`` with ``config.settings``::

    python -m tests.intake_commands watch            # three watch rules; prints duty's token
    python -m tests.intake_commands import FILE      # an import of FILE, sent to the worker
    python -m tests.intake_commands import FILE --run  # ... run here, to its end
    python -m tests.intake_commands recover --ahead 900

``recover`` runs what beat runs after a crash, with the clock ``--ahead`` seconds on (so
the leases and grace periods of the dead process are over): the imports nobody runs,
then the completion of the posts still marked, until none is left.

The posts are built here too (:func:`posts`), so the test and the commands agree.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

RULES = {
    "医院收费": "医院 AND 收费",
    "学校食堂": "学校 AND 食堂",
    "投诉不满": "(投诉 OR 不满) NOT 招聘",
}
PLACES = ["市第一医院", "县人民医院", "实验学校", "第二中学", "区政务大厅", "市自来水公司"]
MATTERS = ["重复收费", "食堂饭菜变质", "排队三小时", "招聘公告", "服务周到", "停车收费太贵"]
MOODS = ["，网友投诉无门", "，家长强烈不满", "，欢迎咨询", "，点赞", ""]


def posts(count: int, *, now: datetime) -> list[dict[str, Any]]:
    """``count`` posts, some matching each rule, one in eight a repost of an earlier one."""
    made = []
    for n in range(count):
        text = (
            f"{PLACES[n % len(PLACES)]}{MATTERS[n // 3 % len(MATTERS)]}"
            f"{MOODS[n // 5 % len(MOODS)]}，详情见第{n}号帖子，请有关部门核实处理。"
        )
        if n % 8 == 7:
            text = f"转发 //@网友{n}: {made[n - 5]['text']}"
        made.append(
            {
                "platform": "weibo",
                "url": f"https://weibo.com/crash/{n}",
                "author": f"网友{n % 50}",
                "text": text,
                "published_at": (now - timedelta(minutes=count - n)).isoformat(),
                "reads": n,
                "reposts": n % 7,
                "comments": n % 5,
                "likes": n % 3,
            }
        )
    return made


def csv_text(count: int, *, now: datetime) -> str:
    """:func:`posts` as a vendor's CSV export."""
    lines = ["平台,链接,作者,内容,发布时间,阅读数"]
    for post in posts(count, now=now):
        moment = datetime.fromisoformat(post["published_at"]).strftime("%Y-%m-%d %H:%M:%S%z")
        lines.append(
            f'微博,{post["url"]},{post["author"]},"{post["text"]}",{moment},{post["reads"]}'
        )
    return "\n".join(lines) + "\n"


def watch() -> None:
    from rest_framework.authtoken.models import Token

    from monitoring.text.matching import rule_create
    from organisation.models import Unit, User

    analyst = User.objects.get(username="analyst")
    unit = Unit.objects.get(name="卫生健康委员会")
    for name, expression in RULES.items():
        rule_create(actor=analyst, name=name, expression=expression, unit=unit)
    print(Token.objects.get_or_create(user=User.objects.get(username="duty"))[0].key)


def import_file(path: str, *, run: bool) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from monitoring.intake.imports import import_create, import_run
    from organisation.models import User

    with open(path, "rb") as source:
        upload = SimpleUploadedFile(os.path.basename(path), source.read())
    job = import_create(actor=User.objects.get(username="duty"), upload=upload)
    if run:
        import_run(job.pk)
    print(job.pk)


def recover(*, ahead: float) -> None:
    from django.utils import timezone

    from monitoring.intake.imports import imports_run_pending
    from monitoring.topics.completion import posts_complete_pending

    later = timezone.now() + timedelta(seconds=ahead)
    while imports_run_pending(now=later):
        pass
    print(posts_complete_pending(now=later))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.intake_commands")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("watch", help="watch rules; print duty's API token")
    importing = commands.add_parser("import", help="import a CSV file as duty")
    importing.add_argument("path")
    importing.add_argument("--run", action="store_true", help="run it here, not in a worker")
    recovering = commands.add_parser("recover", help="what beat runs after a crash")
    recovering.add_argument("--ahead", type=float, default=900.0)
    args = parser.parse_args(argv)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    if args.command == "watch":
        watch()
    elif args.command == "import":
        import_file(args.path, run=args.run)
    else:
        recover(ahead=args.ahead)
    return 0


if __name__ == "__main__":
    sys.exit(main())
