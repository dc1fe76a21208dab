"""Paging long lists the way the design system shows it: first, last, neighbours, gaps.

Links keep the reader's filters: only `page` changes from one link to the next. It sits
beside the apps, below all of them, so that every app's list pages (the catalogue, the back
office, the care workspace, engagement) page alike with `web/includes/pagination.html`.
"""

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

PAGE_SIZE = 20


@dataclass(frozen=True)
class PageLink:
    """One slot of the pagination bar: a page number with its link, or a gap (number None)."""

    number: int | None
    url: str = ""
    current: bool = False


@dataclass(frozen=True)
class Pagination:
    page: Page
    links: list[PageLink]
    previous_url: str
    next_url: str

    @property
    def needed(self) -> bool:
        return self.page.paginator.num_pages > 1


def _url(query: QueryDict, number: int) -> str:
    query = query.copy()
    query["page"] = str(number)
    return "?" + query.urlencode()


def page_numbers(current: int, last: int, around: int = 1) -> list[int | None]:
    """Page numbers to show: the first, the last, `around` each side of the current; None
    marks a gap."""
    wanted = {1, last, *range(current - around, current + around + 1)}
    numbers = sorted(n for n in wanted if 1 <= n <= last)
    shown: list[int | None] = []
    previous = 0
    for number in numbers:
        if previous and number - previous > 1:
            shown.append(None)
        shown.append(number)
        previous = number
    return shown


def paginate(request: HttpRequest, items: QuerySet | list, per_page: int = PAGE_SIZE) -> Pagination:
    """The page asked for in `?page=` (a bad or too-large number gives the nearest page)."""
    page = Paginator(items, per_page).get_page(request.GET.get("page"))
    last = page.paginator.num_pages
    links = [
        PageLink(number, _url(request.GET, number), number == page.number)
        if number is not None
        else PageLink(None)
        for number in page_numbers(page.number, last)
    ]
    return Pagination(
        page=page,
        links=links,
        previous_url=_url(request.GET, page.number - 1) if page.has_previous() else "",
        next_url=_url(request.GET, page.number + 1) if page.has_next() else "",
    )
