with {{ period }}
select start || ' to ' || date(stop, '-1 day') || ' (' || tz_name() || ')' as text from period
