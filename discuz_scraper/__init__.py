"""discuz-scraper."""
