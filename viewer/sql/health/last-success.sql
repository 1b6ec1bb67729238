-- The account whose last successful cycle is oldest decides: a stalled account is not hidden by a busy one.
select coalesce((
    select coalesce(cast(round((julianday('now') - julianday(max(r.finished_at))) * 1440) as integer) || ' min ago',
                    'never') || ' (' || a.account || ')'
    from (select distinct account from collector_runs) a
    left join collector_runs r on r.account = a.account and r.outcome = 'ok'
    group by a.account order by max(r.finished_at) nulls first limit 1), 'never') as at
