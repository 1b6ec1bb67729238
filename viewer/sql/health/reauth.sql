select case when count(*) then 'LOGIN NEEDED: ' || group_concat(account, ', ') else 'ok' end as state
from account_state where key = 'auth.reauth_required' and value is not null
