with {{ period }}
select first_day || ' to ' || date(next_day, '-1 day') || ' (' || tz_name() || ')' as text from period
