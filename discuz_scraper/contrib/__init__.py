"""Integrations with other crawl engines and frameworks (each behind its own optional extra).

- :mod:`discuz_scraper.contrib.scrapy`: a Scrapy spider, middlewares and an item pipeline built on
  the library's pure parsers and models (``pip install "discuz-scraper[scrapy]"``), single-machine
  or distributed with scrapy-redis.

Nothing here is imported by ``discuz_scraper`` itself, so the core stays free of these dependencies.
"""
