with {{ period }},
ranked as (
  select s.user_email, sum(s.verdict = 'poor') as poor, sum(s.{{ rated }}) as rated,
    group_concat(distinct s.verdict_metric) as causes, group_concat(distinct s.network_type) as networks
  from media_sessions s where s.user_email is not null {{ session_filters }}
  group by s.user_email having poor > 0 order by poor desc, rated desc limit 15)
select a('/meetq/user_history?email=' || q(user_email), user_email) as person, poor || ' of ' || rated as poor_of_rated,
  h(causes) as causes, h(networks) as networks
from ranked
union all select 'nobody had a poor session in this period', null, null, null where not exists (select 1 from ranked)
