# Existing tokens keep doing everything their member may: read and write.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0006_ai_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read_write", "Read and write"), ("read_only", "Read only")],
                default="read_write",
                max_length=12,
            ),
        ),
    ]
