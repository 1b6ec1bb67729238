period as (
  select first_day, next_day, day_start(first_day) as start, day_start(next_day) as stop from (
    select coalesce(nullif(:date_start, ''), date(coalesce(nullif(:date_end, ''), local_today()), '-6 days'))
             as first_day,
           date(coalesce(nullif(:date_end, ''), local_today()), '+1 day') as next_day)),
previous as (
  select day_start(date(first_day, '-' || cast(julianday(next_day) - julianday(first_day) as integer) || ' days'))
    as start, start as stop
  from period)
