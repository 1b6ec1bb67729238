-- The collector at a glance: accounts that need a login, else the stalest account's last success.
select coalesce(
  (select 'LOGIN NEEDED: ' || group_concat(account, ', ') from account_state
   where key = 'auth.reauth_required' and value is not null),
  (select 'ok · ' || coalesce(cast(round((julianday('now') - julianday(max(r.finished_at))) * 1440) as integer)
          || ' min since the stalest account''s last success', 'no success yet')
   from collector_runs r where r.outcome = 'ok'),
  'no cycle yet') as text
