union all select a('/meetq/missing_subnets?date_start=' || (select first_day from period) || '&date_end='
                   || date((select next_day from period), '-1 day'), 'every one of the ' || n || ' subnets'),
  'the list above is the busiest {{ limit }}', null, null, null
from (select count(*) as n from (
        select 1 from media_sessions s join session_locations l on l.session_id = s.id
        -- +status: read the period's sessions by time, then each one's place; the status index would
        -- read every place of the year first (13x slower for a week of a 25,000-person year)
        where +l.status in ('unmapped', 'outside', 'masked') {{ session_filters }} group by l.subnet, l.status))
where n > {{ limit }}
