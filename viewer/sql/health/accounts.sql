-- One row per account: its last cycle, its last success and what its credentials say of themselves.
select h(a.account) as account,
  (select outcome from collector_runs r where r.account = a.account order by r.id desc limit 1) as last_outcome,
  (select max(finished_at) from collector_runs r where r.account = a.account and r.outcome = 'ok') as last_success,
  coalesce('LOGIN NEEDED since ' || max(case when s.key = 'auth.reauth_required' then s.value end), 'ok')
    as authorisation,
  h(max(case when s.key = 'auth.identity' then s.value end)) as authorised_as,
  max(case when s.key = 'auth.access_expires_at' then s.value end) as access_expires_at,
  max(case when s.key = 'auth.refresh_expires_at' then s.value end) as refresh_expires_at
from (select account from collector_runs union select account from account_state) a
left join account_state s on s.account = a.account
group by a.account order by authorisation != 'ok' desc, a.account
