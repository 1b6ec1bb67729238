select h(account) as account, key as fact, h(value) as value, updated_at from account_state
where key like 'auth.%' or key like 'meetings.%' or key like '%_until' order by account, key
