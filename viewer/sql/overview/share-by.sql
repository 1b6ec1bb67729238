-- Poor share of rated sessions by {{ dimension }}, with the sample size; groups under
-- :min_sessions rated sessions (default 10) are left out: their share says little. A bar leads
-- to the {{ listing }} view (sessions, or a vendor's own list where the column is its own).
with {{ period }}
select coalesce({{ dimension }}, 'unknown') || ' (' || sum(s.{{ rated }}) || ')' as value,
  {{ poor_share }} as poor_pct, sum(s.{{ rated }}) as rated, sum(s.verdict = 'poor') as poor,
  -- a bar leads to its poor sessions in the sessions view (the group's exact value, and its vendor
  -- when the group is one vendor's: a vendor's chart leads to that vendor's sessions alone)
  '/meetq/{{ listing }}?verdict=poor&{{ column }}=' || q(max({{ dimension }})) || {{ in_period_and_scope }}
    || case when min(s.provider) = max(s.provider) then '&vendor=' || q(min(s.provider)) else '' end as href
from media_sessions s where 1 {{ session_filters }} {{ where }}
group by coalesce({{ dimension }}, 'unknown') having {{ min_sessions }}
union all select 'no group has ' || coalesce(nullif(:min_sessions, ''), 10) || ' rated sessions', 0, 0, 0, null
where not exists (select 1 from media_sessions s where 1 {{ session_filters }} {{ where }}
                  group by coalesce({{ dimension }}, 'unknown') having {{ min_sessions }})
order by poor_pct desc
