"""Write a realistic, deterministic store of N articles for the benchmarks.

The files have the shape of the samples in ``content/``: front matter with an
excerpt, provider with a logo, topics, 0-3 images, 0-3 related stories (each with
its own excerpt, amp URLs, provider and image) and a ``secured`` blob of the
samples' size. Topics follow a long tail (a few hundred, Zipf-weighted) and so do
providers (a few thousand); titles mix scripts. The same N and seed always give
the same bytes, and every file gets the same modification time, so two runs of a
benchmark see the same store.

    python bench/generate.py 100000 bench/stores/100k
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys
from datetime import UTC, datetime, timedelta

import yaml

WORDS = [
    "data",
    "model",
    "cloud",
    "chip",
    "robot",
    "vision",
    "privacy",
    "startup",
    "lapse",
    "breach",
    "court",
    "ruling",
    "market",
    "quantum",
    "battery",
    "climate",
    "vaccine",
    "launch",
    "rocket",
    "neural",
    "network",
    "agent",
    "language",
    "open",
    "source",
    "security",
    "camera",
    "satellite",
    "grid",
    "solar",
    "wind",
    "city",
    "transit",
    "health",
    "study",
    "report",
    "policy",
    "funding",
    "round",
    "acquisition",
    "outage",
    "update",
    "release",
    "benchmark",
    "sensor",
    "drone",
    "lab",
    "genome",
]
# Titles are not all ASCII: curly quotes, accents, CJK, Cyrillic and emoji appear in real feeds.
UNICODE_BITS = (
    "’s",
    "“first look”",
    "café",
    "naïve",
    "Zürich",
    "São Paulo",
    "東京",
    "人工知能",
    "Москва",
    "İstanbul",
    "Ελλάδα",
    "🚀",
    "—",
    "½",
)
TOPIC_STEMS = [
    "AI",
    "Machine Learning",
    "Computer Vision",
    "Robotics",
    "Privacy",
    "Security",
    "Cloud",
    "Chips",
    "Quantum",
    "Energy",
    "Climate",
    "Health",
    "Biotech",
    "Space",
    "Transport",
    "Finance",
    "Crypto",
    "Policy",
    "Law",
    "Education",
    "Gaming",
    "Media",
    "Mobile",
    "Web",
    "Open Source",
    "Startups",
    "Semiconductors",
    "Batteries",
    "Drones",
]
TLDS = ("com", "org", "net", "io", "co.uk", "de", "fr", "jp", "com.br", "news")
START = datetime(2019, 1, 1, tzinfo=UTC)
MTIME = 1_700_000_000  # every file gets this mtime, so reruns see an identical store


def topic_names(rng: random.Random, count: int = 600) -> list[str]:
    names = list(TOPIC_STEMS)
    while len(names) < count:
        name = f"{rng.choice(TOPIC_STEMS)} {rng.choice(WORDS).title()}"
        if rng.random() < 0.1:
            name += f" {rng.choice(UNICODE_BITS)}"
        if name not in names:
            names.append(name)
    return names


def providers(rng: random.Random, count: int = 4000) -> list[tuple[str, str]]:
    result = []
    for i in range(count):
        stem = "".join(rng.choice(WORDS) for _ in range(2))
        domain = f"{stem}{i}.{rng.choice(TLDS)}"
        result.append((f"{stem.title()} {rng.choice(['News', 'Daily', 'Times', 'Wire'])}", domain))
    return result


def sentence(rng: random.Random, words: int) -> str:
    parts = [rng.choice(WORDS) for _ in range(words)]
    if rng.random() < 0.4:
        parts.insert(rng.randrange(len(parts)), rng.choice(UNICODE_BITS))
    text = " ".join(parts)
    return text[0].upper() + text[1:]


def image(rng: random.Random, host: str, title: str | None) -> dict:
    width = rng.choice((600, 700, 1024, 1200, 1400))
    item = {
        "url": f"https://cdn.{host}/images/{rng.getrandbits(64):016x}.jpg?w={width}",
        "width": width,
        "height": width * 9 // 16,
    }
    if title:
        item["title"] = title
    return item


def related(rng: random.Random, provs: list, when: datetime) -> dict:
    name, domain = rng.choice(provs)
    slug = "-".join(rng.choice(WORDS) for _ in range(6))
    url = f"https://www.{domain}/{when:%Y/%m/%d}/{slug}"
    return {
        "title": sentence(rng, rng.randint(6, 12)),
        "excerpt": sentence(rng, rng.randint(30, 45)) + " ...",
        "publishedDateTime": when + timedelta(minutes=rng.randint(1, 600)),
        "webUrl": url,
        "ampWebUrl": url + "/amp",
        "cdnAmpWebUrl": f"https://{domain.replace('.', '-')}.cdn.ampproject.org/c/s/{url[8:]}/amp",
        "type": "article",
        "provider": {"name": name, "domain": domain},
        "quality": rng.randint(20, 120),
        "images": [image(rng, domain, None)],
    }


def article(rng: random.Random, index: int, topics: list, weights: list, provs: list) -> dict:
    name, domain = provs[min(int(rng.paretovariate(0.7)) - 1, len(provs) - 1)]
    when = START + timedelta(minutes=index * 7 + rng.randint(0, 6))
    title = sentence(rng, rng.randint(6, 14))
    url = f"https://www.{domain}/{when:%Y/%m/%d}/article-{index}"
    data = {
        "category": "news",
        "title": title,
        "excerpt": sentence(rng, rng.randint(40, 70)) + " ...",
        "publishedDateTime": when,
        "webUrl": url,
        "ampWebUrl": url + "/amp",
        "cdnAmpWebUrl": f"https://{domain.replace('.', '-')}.cdn.ampproject.org/c/s/{url[8:]}",
        "type": "article",
        "quality": rng.randint(20, 140),
        "heat": rng.randint(0, 200),
        "published": rng.random() > 0.01,
        "provider": {
            "name": name,
            "domain": domain,
            "images": [
                {"url": f"https://assets.example.net/logos/{domain}-50x50.jpg", "width": 50}
                | {"height": 50}
            ],
        },
        "topics": sorted(set(rng.choices(topics, weights, k=rng.randint(1, 4)))),
        "images": [image(rng, domain, title if i == 0 else None) for i in range(rng.randint(0, 3))],
        "related": [related(rng, provs, when) for _ in range(rng.randint(0, 3))],
    }
    # Like the samples: ~380 bytes of ciphertext and a nonce, base64, in double quotes.
    secret = base64.b64encode(rng.randbytes(384)).decode()
    nonce = base64.b64encode(rng.randbytes(16)).decode()
    data["secured"] = f"{secret};{nonce}"
    return data


class _Quoted(str):
    """A value written double-quoted, as the samples write text and URLs."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists indented under their key, as in the samples.
        super().increase_indent(flow, False)


_Dumper.add_representer(
    _Quoted,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"'),
)


_Dumper.add_representer(
    datetime,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:timestamp", value.strftime("%Y-%m-%dT%H:%M:%SZ")
    ),
)


def _quote_values(value: object) -> object:
    if isinstance(value, dict):
        return {key: _quote_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_quote_values(item) for item in value]
    return _Quoted(value) if isinstance(value, str) and not value.isalpha() else value


def render(data: dict) -> str:
    lines = ["---"]
    for key, value in data.items():
        chunk = yaml.dump(
            {key: _quote_values(value)},
            Dumper=_Dumper,
            allow_unicode=True,
            sort_keys=False,
            width=10_000,
        )
        lines.append(chunk.rstrip("\n"))
        if key in ("published", "provider", "topics", "images", "related"):
            lines.append("")  # blank lines between sections, like the samples
    lines.append("---")
    return "\n".join(lines) + "\n"


def generate(count: int, folder: str, seed: int = 3) -> None:
    rng = random.Random(seed)
    topics = topic_names(rng)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(topics))]
    provs = providers(rng)
    os.makedirs(folder, exist_ok=True)
    for index in range(count):
        data = article(rng, index, topics, weights, provs)
        path = os.path.join(folder, f"{index:06d}_{rng.getrandbits(64):016x}.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(render(data))
        os.utime(path, (MTIME, MTIME))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("count", type=int)
    parser.add_argument("folder")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if os.path.isdir(args.folder) and os.listdir(args.folder):
        sys.exit(f"{args.folder} is not empty")
    generate(args.count, args.folder, args.seed)


if __name__ == "__main__":
    main()
