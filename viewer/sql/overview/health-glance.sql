-- The collector at a glance: accounts that need a login, else the stalest account's last success;
-- either way a link to the Health page, where the rest is.
select a('/-/dashboards/health', coalesce(
  (select 'LOGIN NEEDED: ' || group_concat(account, ', ') from account_state
   where key = 'auth.reauth_required' and value is not null),
  (select 'ok · ' || cast(round((julianday('now') - julianday(min(last_ok))) * 1440) as integer) || ' min ago'
   from (select max(finished_at) as last_ok from collector_runs where outcome = 'ok' group by account)
   having count(*) > 0),
  'no successful cycle yet')) as text
