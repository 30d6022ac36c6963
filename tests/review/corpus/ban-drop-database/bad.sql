-- bbops:no-transaction
DROP DATABASE "old_shop"; -- expect: ban-drop-database
