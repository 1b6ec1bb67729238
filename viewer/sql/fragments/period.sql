period as (
  select coalesce(nullif(:date_start, ''), date(coalesce(nullif(:date_end, ''), 'now'), '-6 days')) as start,
         date(coalesce(nullif(:date_end, ''), 'now'), '+1 day') as stop),
previous as (
  select date(start, '-' || cast(julianday(stop) - julianday(start) as integer) || ' days') as start, start as stop
  from period)
