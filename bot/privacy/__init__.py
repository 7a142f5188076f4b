"""Privacy gateway: detect personal data, swap it for stable placeholders, put it back where allowed."""
