with {{ period }}
select s.provider || ' · ' || s.account || ' (' || sum(s.{{ rated }}) || ')' as value,
  {{ poor_share }} as poor_pct, sum(s.{{ rated }}) as rated, sum(s.verdict = 'poor') as poor,
  '/meetq/sessions?verdict=poor&vendor=' || q(s.provider) || '&account=' || q(s.account) || {{ in_period_and_scope }} as href
from media_sessions s where 1 {{ session_filters }}
group by s.provider, s.account
union all select 'no sessions in this period', 0, 0, 0, null
where not exists (select 1 from media_sessions s where 1 {{ session_filters }})
order by poor_pct desc
