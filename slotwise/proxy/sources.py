"""Traffic source of a visit, from UTM parameters and the referrer (a bandit context feature)."""

from __future__ import annotations

from typing import Mapping

_SEARCH = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "qwant.", "baidu.", "yandex.", "startpage.")
_SOCIAL = ("facebook.", "instagram.", "t.co", "twitter.", "x.com", "linkedin.", "pinterest.", "tiktok.",
           "reddit.", "youtube.", "whatsapp.", "threads.")
_PAID_MEDIUMS = ("cpc", "ppc", "paid", "paidsearch", "paid_social", "display", "cpm", "affiliate")


def traffic_source(utm: Mapping[str, str | None], referrer_host: str | None, own_host: str | None) -> str:
    """One of direct, search, social, email, paid, referral."""
    medium = (utm.get("medium") or "").lower()
    if medium in _PAID_MEDIUMS:
        return "paid"
    if medium in ("email", "newsletter", "e-mail"):
        return "email"
    if medium in ("social", "social-network", "sm"):
        return "social"
    host = (referrer_host or "").lower()
    if not host or (own_host and host == own_host.split(":")[0].lower()):
        return "direct"
    if any(marker in host for marker in _SEARCH):
        return "search"
    if any(host == m or host.endswith("." + m) or m in host for m in _SOCIAL):
        return "social"
    return "referral"
