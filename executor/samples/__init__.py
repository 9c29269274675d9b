"""Sample UDFs written with the SDK: `word_count` feeds `sum` in the word-count topology."""
