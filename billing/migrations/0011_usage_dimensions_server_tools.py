"""Usage keeps how each request was served and its server tool requests.

Records and every rollup count web searches and web fetches; a model has a web search price;
the minute, hour and day rollups are kept per service tier, inference geo, speed and context
window (their unique keys name them), and the day rollup by workspace per service tier (its
prices). The columns have database defaults, so on PostgreSQL they are added to the
partitioned usage records table, and so to every monthly partition, without rewriting rows.
0012 brings the usage stored before into that shape.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_user_time_zone_theme'),
        ('billing', '0010_gateway_token_organization'),
        ('workspaces', '0006_workspace_api_fields'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='usagedaily',
            name='usage_daily_unique',
        ),
        migrations.RemoveConstraint(
            model_name='usagehour',
            name='usage_hour_unique',
        ),
        migrations.RemoveConstraint(
            model_name='usageminute',
            name='usage_minute_unique',
        ),
        migrations.RemoveConstraint(
            model_name='usageworkspaceday',
            name='usage_workspace_day_unique',
        ),
        migrations.AddField(
            model_name='model',
            name='web_search_price',
            field=models.DecimalField(decimal_places=4, default=0, help_text='What the web search tool costs with this model (Anthropic: $10 per 1,000).', max_digits=12, verbose_name='web search, $ per 1,000 searches'),
        ),
        migrations.AddField(
            model_name='usagedaily',
            name='web_fetch_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usagedaily',
            name='web_search_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usagehour',
            name='web_fetch_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usagehour',
            name='web_search_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usageminute',
            name='web_fetch_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usageminute',
            name='web_search_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usagerecord',
            name='web_fetch_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usagerecord',
            name='web_search_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usageworkspaceday',
            name='service_tier',
            field=models.CharField(choices=[('standard', 'Standard'), ('batch', 'Batch'), ('priority', 'Priority'), ('priority_on_demand', 'Priority on demand'), ('flex', 'Flex'), ('flex_discount', 'Flex discount')], db_default='standard', default='standard', max_length=20),
        ),
        migrations.AddField(
            model_name='usageworkspaceday',
            name='web_fetch_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='usageworkspaceday',
            name='web_search_requests',
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
        migrations.AddConstraint(
            model_name='usagedaily',
            constraint=models.UniqueConstraint(fields=('day', 'workspace', 'api_key', 'model', 'service_tier', 'inference_geo', 'speed', 'context_window'), name='usage_daily_unique'),
        ),
        migrations.AddConstraint(
            model_name='usagehour',
            constraint=models.UniqueConstraint(fields=('hour', 'workspace', 'api_key', 'model', 'service_tier', 'inference_geo', 'speed', 'context_window'), name='usage_hour_unique'),
        ),
        migrations.AddConstraint(
            model_name='usageminute',
            constraint=models.UniqueConstraint(fields=('minute', 'workspace', 'api_key', 'model', 'service_tier', 'inference_geo', 'speed', 'context_window'), name='usage_minute_unique'),
        ),
        migrations.AddConstraint(
            model_name='usageworkspaceday',
            constraint=models.UniqueConstraint(fields=('day', 'workspace', 'model', 'service_tier'), name='usage_workspace_day_unique'),
        ),
    ]
