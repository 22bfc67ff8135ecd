"""Page-number pagination with `results` and `next`; clients may ask for up to 200 rows a page."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
