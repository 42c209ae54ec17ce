/**
 * Writes the metadata XML of the 1C extension in `onec/extension/` from the compact
 * description in `onec-ext-model.ts`, in Designer's XML dump format (UTF-8 with BOM, CRLF,
 * `version="2.13"` — the format 8.3.20 dumps, to match compatibility mode 8.3.20).
 *
 * Why a generator: the dump format repeats dozens of default properties per attribute; one
 * writer keeps every file regular and every UUID stable (derived from the object's path,
 * so regenerating changes nothing). The shape of each file mirrors real dumps read before
 * writing (vladimir-kharin/1c_mcp `src/1c_ext`, 1c-syntax/ssl_3_1_eng `src/cf`).
 * BSL modules are written by hand; this script only normalises them to BOM + CRLF.
 *
 *   node --import tsx scripts/onec-ext-generate.ts [out-dir]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EXTENSION, type Field, type FieldType, type Form, type Register } from './onec-ext-model.ts';

// Another directory as the first argument: the tests regenerate there and compare.
const root = process.argv[2] ? resolve(process.argv[2]) : resolve(dirname(new URL(import.meta.url).pathname), '..', 'onec', 'extension');
const VERSION = '2.13';
const BOM = '\uFEFF';
const MD_NS =
  'xmlns="http://v8.1c.ru/8.3/MDClasses" xmlns:app="http://v8.1c.ru/8.2/managed-application/core" xmlns:cfg="http://v8.1c.ru/8.1/data/enterprise/current-config" xmlns:cmi="http://v8.1c.ru/8.2/managed-application/cmi" xmlns:ent="http://v8.1c.ru/8.1/data/enterprise" xmlns:lf="http://v8.1c.ru/8.2/managed-application/logform" xmlns:style="http://v8.1c.ru/8.1/data/ui/style" xmlns:sys="http://v8.1c.ru/8.1/data/ui/fonts/system" xmlns:v8="http://v8.1c.ru/8.1/data/core" xmlns:v8ui="http://v8.1c.ru/8.1/data/ui" xmlns:web="http://v8.1c.ru/8.1/data/ui/colors/web" xmlns:win="http://v8.1c.ru/8.1/data/ui/colors/windows" xmlns:xen="http://v8.1c.ru/8.3/xcf/enums" xmlns:xpr="http://v8.1c.ru/8.3/xcf/predef" xmlns:xr="http://v8.1c.ru/8.3/xcf/readable" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const FORM_NS =
  'xmlns="http://v8.1c.ru/8.3/xcf/logform" xmlns:app="http://v8.1c.ru/8.2/managed-application/core" xmlns:cfg="http://v8.1c.ru/8.1/data/enterprise/current-config" xmlns:dcscor="http://v8.1c.ru/8.1/data-composition-system/core" xmlns:dcssch="http://v8.1c.ru/8.1/data-composition-system/schema" xmlns:dcsset="http://v8.1c.ru/8.1/data-composition-system/settings" xmlns:ent="http://v8.1c.ru/8.1/data/enterprise" xmlns:lf="http://v8.1c.ru/8.2/managed-application/logform" xmlns:style="http://v8.1c.ru/8.1/data/ui/style" xmlns:sys="http://v8.1c.ru/8.1/data/ui/fonts/system" xmlns:v8="http://v8.1c.ru/8.1/data/core" xmlns:v8ui="http://v8.1c.ru/8.1/data/ui" xmlns:web="http://v8.1c.ru/8.1/data/ui/colors/web" xmlns:win="http://v8.1c.ru/8.1/data/ui/colors/windows" xmlns:xr="http://v8.1c.ru/8.3/xcf/readable" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

/** A stable UUID (RFC 4122 layout, version 5 bits) derived from a path inside the extension. */
function uuid(key: string): string {
  const h = createHash('sha1').update(`chat-connector:cc:${key}`).digest('hex');
  const v = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${v}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function lines(indent: number, text: string): string {
  const pad = '\t'.repeat(indent);
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => pad + l)
    .join('\n');
}

function synonym(text: string, tag = 'Synonym'): string {
  return `<${tag}>\n\t<v8:item>\n\t\t<v8:lang>ru</v8:lang>\n\t\t<v8:content>${esc(text)}</v8:content>\n\t</v8:item>\n</${tag}>`;
}

function typeXml(t: FieldType): string {
  switch (t.kind) {
    case 'string':
      return `<Type>\n\t<v8:Type>xs:string</v8:Type>\n\t<v8:StringQualifiers>\n\t\t<v8:Length>${t.length}</v8:Length>\n\t\t<v8:AllowedLength>Variable</v8:AllowedLength>\n\t</v8:StringQualifiers>\n</Type>`;
    case 'number':
      return `<Type>\n\t<v8:Type>xs:decimal</v8:Type>\n\t<v8:NumberQualifiers>\n\t\t<v8:Digits>${t.digits}</v8:Digits>\n\t\t<v8:FractionDigits>0</v8:FractionDigits>\n\t\t<v8:AllowedSign>Nonnegative</v8:AllowedSign>\n\t</v8:NumberQualifiers>\n</Type>`;
    case 'date':
      return `<Type>\n\t<v8:Type>xs:dateTime</v8:Type>\n\t<v8:DateQualifiers>\n\t\t<v8:DateFractions>DateTime</v8:DateFractions>\n\t</v8:DateQualifiers>\n</Type>`;
    case 'boolean':
      return `<Type>\n\t<v8:Type>xs:boolean</v8:Type>\n</Type>`;
  }
}

function document(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<MetaDataObject ${MD_NS} version="${VERSION}">\n${lines(1, body)}\n</MetaDataObject>`;
}

function write(rel: string, text: string): void {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, BOM + text.replace(/\r\n/g, '\n').replace(/\n/g, '\r\n'), 'utf8');
}

function generatedTypes(prefix: string, name: string, kinds: [string, string][]): string {
  return kinds
    .map(
      ([type, category]) =>
        `<xr:GeneratedType name="${type}.${name}" category="${category}">\n\t<xr:TypeId>${uuid(`${prefix}/${name}/type/${category}`)}</xr:TypeId>\n\t<xr:ValueId>${uuid(`${prefix}/${name}/value/${category}`)}</xr:ValueId>\n</xr:GeneratedType>`,
    )
    .join('\n');
}

function configuration(): string {
  const e = EXTENSION;
  // The ClassIds of the seven contained objects are platform constants (the same in every dump).
  const classIds = [
    '9cd510cd-abfc-11d4-9434-004095e12fc7',
    '9fcd25a0-4822-11d4-9414-008048da11f9',
    'e3687481-0a87-462c-a166-9f34594f9bba',
    '9de14907-ec23-4a07-96f0-85521cb6b53b',
    '51f2d5d8-ea4d-4064-8892-82951750031e',
    'e68182ea-4237-4383-967f-90c1e3370bc7',
    'fb282519-d103-4dd3-bc12-cb271d631dfc',
  ];
  const contained = classIds
    .map(
      (c, i) =>
        `<xr:ContainedObject>\n\t<xr:ClassId>${c}</xr:ClassId>\n\t<xr:ObjectId>${uuid(`Configuration/contained/${i}`)}</xr:ObjectId>\n</xr:ContainedObject>`,
    )
    .join('\n');
  const children = [
    `<Language>${e.language}</Language>`,
    ...e.roles.map((r) => `<Role>${r.name}</Role>`),
    ...e.commonModules.map((m) => `<CommonModule>${m.name}</CommonModule>`),
    `<HTTPService>${e.httpService.name}</HTTPService>`,
    `<ScheduledJob>${e.scheduledJob.name}</ScheduledJob>`,
    ...e.constants.map((c) => `<Constant>${c.name}</Constant>`),
    ...e.forms.map((f) => `<CommonForm>${f.name}</CommonForm>`),
    ...e.registers.map((r) => `<InformationRegister>${r.name}</InformationRegister>`),
  ].join('\n');
  return document(`<Configuration uuid="${uuid('Configuration')}">
	<InternalInfo>
${lines(2, contained)}
	</InternalInfo>
	<Properties>
		<ObjectBelonging>Adopted</ObjectBelonging>
		<Name>${e.name}</Name>
${lines(2, synonym(e.synonym))}
		<Comment/>
		<ConfigurationExtensionPurpose>AddOn</ConfigurationExtensionPurpose>
		<KeepMappingToExtendedConfigurationObjectsByIDs>true</KeepMappingToExtendedConfigurationObjectsByIDs>
		<NamePrefix>cc_</NamePrefix>
		<ConfigurationExtensionCompatibilityMode>Version8_3_20</ConfigurationExtensionCompatibilityMode>
		<DefaultRunMode>ManagedApplication</DefaultRunMode>
		<UsePurposes>
			<v8:Value xsi:type="app:ApplicationUsePurpose">PlatformApplication</v8:Value>
		</UsePurposes>
		<ScriptVariant>Russian</ScriptVariant>
		<DefaultRoles/>
		<Vendor/>
		<Version>${e.version}</Version>
		<BriefInformation/>
		<DetailedInformation/>
		<Copyright/>
		<VendorInformationAddress/>
		<ConfigurationInformationAddress/>
	</Properties>
	<ChildObjects>
${lines(2, children)}
	</ChildObjects>
</Configuration>`);
}

function language(): string {
  // Borrowed (Adopted) from the extended configuration: an extension cannot have a language of its own.
  return document(`<Language uuid="${uuid('Language')}">
	<InternalInfo/>
	<Properties>
		<ObjectBelonging>Adopted</ObjectBelonging>
		<Name>${EXTENSION.language}</Name>
		<Comment/>
	</Properties>
</Language>`);
}

function commonModule(m: (typeof EXTENSION.commonModules)[number]): string {
  return document(`<CommonModule uuid="${uuid(`CommonModule/${m.name}`)}">
	<Properties>
		<Name>${m.name}</Name>
${lines(2, synonym(m.synonym))}
		<Comment/>
		<Global>false</Global>
		<ClientManagedApplication>false</ClientManagedApplication>
		<Server>true</Server>
		<ExternalConnection>false</ExternalConnection>
		<ClientOrdinaryApplication>false</ClientOrdinaryApplication>
		<ServerCall>${m.serverCall}</ServerCall>
		<Privileged>${m.privileged}</Privileged>
		<ReturnValuesReuse>DontUse</ReturnValuesReuse>
	</Properties>
</CommonModule>`);
}

function httpService(): string {
  const s = EXTENSION.httpService;
  const templates = s.templates
    .map(
      (t) => `<URLTemplate uuid="${uuid(`HTTPService/${s.name}/${t.name}`)}">
	<Properties>
		<Name>${t.name}</Name>
${lines(2, synonym(t.name))}
		<Comment/>
		<Template>${t.template}</Template>
	</Properties>
	<ChildObjects>
${lines(
  2,
  t.methods
    .map(
      (m) => `<Method uuid="${uuid(`HTTPService/${s.name}/${t.name}/${m.method}`)}">
	<Properties>
		<Name>${m.method}</Name>
${lines(2, synonym(m.method))}
		<Comment/>
		<HTTPMethod>${m.method}</HTTPMethod>
		<Handler>${m.handler}</Handler>
	</Properties>
</Method>`,
    )
    .join('\n'),
)}
	</ChildObjects>
</URLTemplate>`,
    )
    .join('\n');
  return document(`<HTTPService uuid="${uuid(`HTTPService/${s.name}`)}">
	<Properties>
		<Name>${s.name}</Name>
${lines(2, synonym(s.synonym))}
		<Comment/>
		<RootURL>${s.rootUrl}</RootURL>
		<ReuseSessions>Use</ReuseSessions>
		<SessionMaxAge>20</SessionMaxAge>
	</Properties>
	<ChildObjects>
${lines(2, templates)}
	</ChildObjects>
</HTTPService>`);
}

function scheduledJob(): string {
  const j = EXTENSION.scheduledJob;
  return document(`<ScheduledJob uuid="${uuid(`ScheduledJob/${j.name}`)}">
	<Properties>
		<Name>${j.name}</Name>
${lines(2, synonym(j.synonym))}
		<Comment/>
		<MethodName>${j.method}</MethodName>
		<Description>${esc(j.synonym)}</Description>
		<Key/>
		<Use>false</Use>
		<Predefined>true</Predefined>
		<RestartCountOnFailure>3</RestartCountOnFailure>
		<RestartIntervalOnFailure>10</RestartIntervalOnFailure>
	</Properties>
</ScheduledJob>`);
}

function schedule(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<JobSchedule xmlns="http://v8.1c.ru/8.3/xcf/extrnprops" xmlns:ent="http://v8.1c.ru/8.1/data/enterprise" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="${VERSION}">
	<Schedule BeginDate="0001-01-01" EndDate="0001-01-01" BeginTime="00:00:00" EndTime="00:00:00" CompletionTime="00:00:00" CompletionInterval="0" RepeatPeriodInDay="${EXTENSION.scheduledJob.repeatSeconds}" RepeatPause="0" WeekDayInMonth="0" DayInMonth="0" WeeksPeriod="1" DaysRepeatPeriod="1">
		<ent:WeekDays>1 2 3 4 5 6 7</ent:WeekDays>
		<ent:Months>1 2 3 4 5 6 7 8 9 10 11 12</ent:Months>
	</Schedule>
</JobSchedule>`;
}

function constant(c: Field): string {
  return document(`<Constant uuid="${uuid(`Constant/${c.name}`)}">
	<InternalInfo>
${lines(
  2,
  generatedTypes('Constant', c.name, [
    ['ConstantManager', 'Manager'],
    // No ConstantValueKey: 2.16+ dumps carry it with a name-derived (v5) id that the platform
    // computes itself; the 8.3.10 and 8.3.18 dumps read have only these two.
    ['ConstantValueManager', 'ValueManager'],
  ]),
)}
	</InternalInfo>
	<Properties>
		<Name>${c.name}</Name>
${lines(2, synonym(c.synonym))}
		<Comment/>
${lines(2, typeXml(c.type))}
		<UseStandardCommands>false</UseStandardCommands>
		<DefaultForm/>
		<ExtendedPresentation/>
		<Explanation/>
		<PasswordMode>${c.password === true}</PasswordMode>
		<Format/>
		<EditFormat/>
		<ToolTip/>
		<MarkNegatives>false</MarkNegatives>
		<Mask/>
		<MultiLine>false</MultiLine>
		<ExtendedEdit>false</ExtendedEdit>
		<MinValue xsi:nil="true"/>
		<MaxValue xsi:nil="true"/>
		<FillChecking>DontCheck</FillChecking>
		<ChoiceFoldersAndItems>Items</ChoiceFoldersAndItems>
		<ChoiceParameterLinks/>
		<ChoiceParameters/>
		<QuickChoice>Auto</QuickChoice>
		<ChoiceForm/>
		<LinkByType/>
		<ChoiceHistoryOnInput>Auto</ChoiceHistoryOnInput>
		<DataLockControlMode>Managed</DataLockControlMode>
		<DataHistory>DontUse</DataHistory>
		<UpdateDataHistoryImmediatelyAfterWrite>false</UpdateDataHistoryImmediatelyAfterWrite>
		<ExecuteAfterWriteDataHistoryVersionProcessing>false</ExecuteAfterWriteDataHistoryVersionProcessing>
	</Properties>
</Constant>`);
}

function registerField(reg: string, f: Field, tag: 'Dimension' | 'Resource'): string {
  const dimensionOnly =
    tag === 'Dimension' ? `<Master>false</Master>\n<MainFilter>true</MainFilter>\n<DenyIncompleteValues>true</DenyIncompleteValues>\n` : '';
  const indexing = tag === 'Resource' && f.indexed === true ? 'Index' : 'DontIndex';
  // As the 8.3.18 dump writes it: a typed empty value for strings, nil otherwise.
  const fillValue = f.type.kind === 'string' ? '<FillValue xsi:type="xs:string"/>' : '<FillValue xsi:nil="true"/>';
  return `<${tag} uuid="${uuid(`InformationRegister/${reg}/${f.name}`)}">
	<Properties>
		<Name>${f.name}</Name>
${lines(2, synonym(f.synonym))}
		<Comment/>
${lines(2, typeXml(f.type))}
${lines(
  2,
  `<PasswordMode>false</PasswordMode>
<Format/>
<EditFormat/>
<ToolTip/>
<MarkNegatives>false</MarkNegatives>
<Mask/>
<MultiLine>false</MultiLine>
<ExtendedEdit>false</ExtendedEdit>
<MinValue xsi:nil="true"/>
<MaxValue xsi:nil="true"/>
<FillFromFillingValue>false</FillFromFillingValue>
${fillValue}
<FillChecking>DontCheck</FillChecking>
<ChoiceFoldersAndItems>Items</ChoiceFoldersAndItems>
<ChoiceParameterLinks/>
<ChoiceParameters/>
<QuickChoice>Auto</QuickChoice>
<CreateOnInput>Auto</CreateOnInput>
<ChoiceForm/>
<LinkByType/>
<ChoiceHistoryOnInput>Auto</ChoiceHistoryOnInput>
${dimensionOnly}<Indexing>${indexing}</Indexing>
<FullTextSearch>DontUse</FullTextSearch>
<DataHistory>DontUse</DataHistory>`,
)}
	</Properties>
</${tag}>`;
}

function register(r: Register): string {
  const children = [
    ...r.resources.map((f) => registerField(r.name, f, 'Resource')),
    ...r.dimensions.map((f) => registerField(r.name, f, 'Dimension')),
  ].join('\n');
  return document(`<InformationRegister uuid="${uuid(`InformationRegister/${r.name}`)}">
	<InternalInfo>
${lines(
  2,
  generatedTypes('InformationRegister', r.name, [
    ['InformationRegisterRecord', 'Record'],
    ['InformationRegisterManager', 'Manager'],
    ['InformationRegisterSelection', 'Selection'],
    ['InformationRegisterList', 'List'],
    ['InformationRegisterRecordSet', 'RecordSet'],
    ['InformationRegisterRecordKey', 'RecordKey'],
    ['InformationRegisterRecordManager', 'RecordManager'],
  ]),
)}
	</InternalInfo>
	<Properties>
		<Name>${r.name}</Name>
${lines(2, synonym(r.synonym))}
		<Comment/>
		<UseStandardCommands>false</UseStandardCommands>
		<EditType>InDialog</EditType>
		<DefaultRecordForm/>
		<DefaultListForm/>
		<AuxiliaryRecordForm/>
		<AuxiliaryListForm/>
		<InformationRegisterPeriodicity>Nonperiodical</InformationRegisterPeriodicity>
		<WriteMode>Independent</WriteMode>
		<MainFilterOnPeriod>false</MainFilterOnPeriod>
		<IncludeHelpInContents>false</IncludeHelpInContents>
		<DataLockControlMode>Managed</DataLockControlMode>
		<FullTextSearch>DontUse</FullTextSearch>
		<EnableTotalsSliceFirst>false</EnableTotalsSliceFirst>
		<EnableTotalsSliceLast>false</EnableTotalsSliceLast>
		<RecordPresentation/>
		<ExtendedRecordPresentation/>
		<ListPresentation/>
		<ExtendedListPresentation/>
		<Explanation/>
		<DataHistory>DontUse</DataHistory>
		<UpdateDataHistoryImmediatelyAfterWrite>false</UpdateDataHistoryImmediatelyAfterWrite>
		<ExecuteAfterWriteDataHistoryVersionProcessing>false</ExecuteAfterWriteDataHistoryVersionProcessing>
	</Properties>
	<ChildObjects>
${lines(2, children)}
	</ChildObjects>
</InformationRegister>`);
}

function role(r: (typeof EXTENSION.roles)[number]): string {
  return document(`<Role uuid="${uuid(`Role/${r.name}`)}">
	<Properties>
		<Name>${r.name}</Name>
${lines(2, synonym(r.synonym))}
		<Comment/>
	</Properties>
</Role>`);
}

function rights(r: (typeof EXTENSION.roles)[number]): string {
  const objects = r.objects
    .map(
      (o) =>
        `<object>\n\t<name>${o.name}</name>\n${o.rights
          .map((n) => `\t<right>\n\t\t<name>${n}</name>\n\t\t<value>true</value>\n\t</right>`)
          .join('\n')}\n</object>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Rights xmlns="http://v8.1c.ru/8.2/roles" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Rights" version="${VERSION}">
	<setForNewObjects>false</setForNewObjects>
	<setForAttributesByDefault>true</setForAttributesByDefault>
	<independentRightsOfChildObjects>false</independentRightsOfChildObjects>
${lines(1, objects)}
</Rights>`;
}

function commonForm(f: Form): string {
  return document(`<CommonForm uuid="${uuid(`CommonForm/${f.name}`)}">
	<Properties>
		<Name>${f.name}</Name>
${lines(2, synonym(f.synonym))}
		<Comment/>
		<FormType>Managed</FormType>
		<IncludeHelpInContents>false</IncludeHelpInContents>
		<UsePurposes>
			<v8:Value xsi:type="app:ApplicationUsePurpose">PlatformApplication</v8:Value>
		</UsePurposes>
		<UseStandardCommands>false</UseStandardCommands>
		<ExtendedPresentation/>
		<Explanation/>
	</Properties>
</CommonForm>`);
}

/** The form layout: one regular item per attribute, tables with their columns, buttons for commands. */
function formXml(f: Form): string {
  let id = 0;
  const next = (): number => ++id;
  const tip = (name: string): string => `<ExtendedTooltip name="${name}РасширеннаяПодсказка" id="${next()}"/>`;
  const items = f.items
    .map((it) => {
      if (it.kind === 'table') {
        const tId = next();
        const cols = it.columns
          .map((c) => {
            const cId = next();
            return `<InputField name="${it.name}${c}" id="${cId}">\n\t<DataPath>${it.name}.${c}</DataPath>\n\t<ReadOnly>true</ReadOnly>\n\t<EditMode>EnterOnInput</EditMode>\n\t<ContextMenu name="${it.name}${c}КонтекстноеМеню" id="${next()}"/>\n\t${tip(it.name + c)}\n</InputField>`;
          })
          .join('\n');
        const events = it.onActivateRow ? `\n\t<Events>\n\t\t<Event name="OnActivateRow">${it.onActivateRow}</Event>\n\t</Events>` : '';
        // Element order as in Designer's dumps: the three search additions precede Events.
        const addition = (suffix: string, tag: string, type: string): string =>
          `<${tag} name="${it.name}${suffix}" id="${next()}">\n\t<AdditionSource>\n\t\t<Item>${it.name}</Item>\n\t\t<Type>${type}</Type>\n\t</AdditionSource>\n\t<ContextMenu name="${it.name}${suffix}КонтекстноеМеню" id="${next()}"/>\n\t${tip(it.name + suffix)}\n</${tag}>`;
        const head = `<ContextMenu name="${it.name}КонтекстноеМеню" id="${next()}"/>\n<AutoCommandBar name="${it.name}КоманднаяПанель" id="${next()}">\n\t<Autofill>false</Autofill>\n</AutoCommandBar>\n${tip(it.name)}`;
        const additions = [
          addition('СтрокаПоиска', 'SearchStringAddition', 'SearchStringRepresentation'),
          addition('СостояниеПросмотра', 'ViewStatusAddition', 'ViewStatusRepresentation'),
          addition('УправлениеПоиском', 'SearchControlAddition', 'SearchControl'),
        ].join('\n');
        return `<Table name="${it.name}" id="${tId}">\n\t<Representation>List</Representation>\n\t<DataPath>${it.name}</DataPath>\n${lines(1, synonym(it.title, 'Title'))}\n${lines(1, head)}\n${lines(1, additions)}${events}\n\t<ChildItems>\n${lines(2, cols)}\n\t</ChildItems>\n</Table>`;
      }
      if (it.kind === 'field') {
        const fId = next();
        const multi = it.multiLine === true ? '\n\t<MultiLine>true</MultiLine>' : '';
        const ro = it.readOnly === true ? '\n\t<ReadOnly>true</ReadOnly>' : '';
        const secret = it.password === true ? '\n\t<PasswordMode>true</PasswordMode>' : '';
        return `<InputField name="${it.name}" id="${fId}">\n\t<DataPath>${it.name}</DataPath>${ro}\n${lines(1, synonym(it.title, 'Title'))}${multi}${secret}\n\t<ContextMenu name="${it.name}КонтекстноеМеню" id="${next()}"/>\n\t${tip(it.name)}\n</InputField>`;
      }
      const bId = next();
      return `<Button name="${it.name}" id="${bId}">\n\t<Type>UsualButton</Type>\n\t<CommandName>Form.Command.${it.command}</CommandName>\n\t${tip(it.name)}\n</Button>`;
    })
    .join('\n');
  const attrs = f.attributes
    .map((a, i) => {
      const type =
        a.columns === undefined
          ? typeXml(a.type)
          : `<Type>\n\t<v8:Type>v8:ValueTable</v8:Type>\n</Type>\n<Columns>\n${lines(
              1,
              a.columns
                .map(
                  (c, j) =>
                    `<Column name="${c.name}" id="${j + 1}">\n${lines(1, synonym(c.synonym, 'Title'))}\n${lines(1, typeXml(c.type))}\n</Column>`,
                )
                .join('\n'),
            )}\n</Columns>`;
      return `<Attribute name="${a.name}" id="${i + 1}">\n${lines(1, synonym(a.synonym, 'Title'))}\n${lines(1, type)}\n</Attribute>`;
    })
    .join('\n');
  const commands = f.commands
    .map(
      (c, i) =>
        `<Command name="${c.name}" id="${i + 1}">\n${lines(1, synonym(c.title, 'Title'))}\n\t<Action>${c.action}</Action>\n\t<CurrentRowUse>DontUse</CurrentRowUse>\n</Command>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Form ${FORM_NS} version="${VERSION}">
	<AutoCommandBar name="ФормаКоманднаяПанель" id="-1">
		<Autofill>false</Autofill>
	</AutoCommandBar>
	<Events>
		<Event name="OnCreateAtServer">ПриСозданииНаСервере</Event>
	</Events>
	<ChildItems>
${lines(2, items)}
	</ChildItems>
	<Attributes>
${lines(2, attrs)}
	</Attributes>
	<Commands>
${lines(2, commands)}
	</Commands>
</Form>`;
}

function normaliseBsl(dir: string): void {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) normaliseBsl(p);
    else if (p.endsWith('.bsl')) {
      const text = readFileSync(p, 'utf8').replace(/^\uFEFF/, '');
      writeFileSync(p, BOM + text.replace(/\r\n/g, '\n').replace(/\n/g, '\r\n'), 'utf8');
    }
  }
}

function main(): void {
  const e = EXTENSION;
  write('Configuration.xml', configuration());
  write(`Languages/${e.language}.xml`, language());
  for (const m of e.commonModules) write(`CommonModules/${m.name}.xml`, commonModule(m));
  write(`HTTPServices/${e.httpService.name}.xml`, httpService());
  write(`ScheduledJobs/${e.scheduledJob.name}.xml`, scheduledJob());
  write(`ScheduledJobs/${e.scheduledJob.name}/Ext/Schedule.xml`, schedule());
  for (const c of e.constants) write(`Constants/${c.name}.xml`, constant(c));
  for (const r of e.registers) write(`InformationRegisters/${r.name}.xml`, register(r));
  for (const r of e.roles) {
    write(`Roles/${r.name}.xml`, role(r));
    write(`Roles/${r.name}/Ext/Rights.xml`, rights(r));
  }
  for (const f of e.forms) {
    write(`CommonForms/${f.name}.xml`, commonForm(f));
    write(`CommonForms/${f.name}/Ext/Form.xml`, formXml(f));
  }
  normaliseBsl(root);
}

main();
