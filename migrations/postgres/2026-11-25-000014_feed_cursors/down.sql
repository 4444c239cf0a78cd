DROP TABLE feed_cursors;
